// Dropout, forward and backward alike: one work-item per Philox block (four elements), drawing
// as the CPU does (random_block and uniform_from are common.cl's transcription of philox.h).
// out[i] = in[i]·scale where uniform ≥ drop, else 0; out may be in.
kernel void dropout_f32(IN(float, x), OUT(float, y), const ulong n, const float drop, const float scale, KEY) {
  const ulong block = (offset >> 2) + get_global_id(0);
  const uint4 w = random_block(seed, step, rank, block);
  const uint words[4] = {w.x, w.y, w.z, w.w};
  for (int k = 0; k < 4; ++k) {
    const ulong p = block * 4 + k;  // element p − offset
    if (p < offset || p - offset >= n) continue;
    const ulong i = p - offset;
    VIEW(y)[i] = uniform_from(words[k]) >= drop ? VIEW(x)[i] * scale : 0.0f;
  }
}
