// The checks every option of every subcommand goes through at parse time, before any work: a
// number is finite and in its range, an output is a place a file can be written (never a device,
// FIFO or directory), an output directory exists or can be made. Each failure is one line naming
// the option (CLI11 prefixes it) and what was expected.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace tandem::cli {

/// The bounds of a number option: [lo, hi], or open at lo with `lo_open` (a learning rate > 0),
/// at hi with `hi_open` (Adam's β < 1).
struct Range {
  double lo, hi;
  bool lo_open = false;
  bool hi_open = false;
};

/// A finite number within `r`: "expected a finite number in (0, 10], not nan".
CLI::Validator number(Range r);
/// A whole number within [lo, hi].
CLI::Validator whole(int64_t lo, int64_t hi);
/// A comma-separated list of whole numbers, each within [lo, hi], at least one ("2,8,32").
CLI::Validator whole_list(int64_t lo, int64_t hi);
/// A file this command will write: tandem::check_output_file ("-" passes when `dash` is true: stdout).
CLI::Validator output_file(bool dash = false);
/// A directory this command will write into: tandem::check_output_dir.
CLI::Validator output_dir();
/// A file this command reads: a regular file (a FIFO or device would block or never end).
CLI::Validator input_file();
/// A regular file or a directory (a text corpus: tandem train --text).
CLI::Validator text_source();
/// A model: a built-in name (cnn, mlp, ...) or a model JSON file (input_file).
CLI::Validator model_source();
/// The --model option's help: "the built-in models (mlp, cnn, ...) or a graph JSON file".
std::string model_help();
/// A value that means nothing empty (a model name, a list).
CLI::Validator non_empty();
/// Specs, parsed as the command will parse them, so that a typo fails before any work:
/// a pruning (none, magnitude:S, global:S, 2:4), a gradient codec (with `allow_auto`: auto[:budget]),
/// a learning-rate schedule, layer pins (LAYER=DEVICE,...), a bucket size (MB in (0, 4096] or auto).
CLI::Validator prune_spec();
CLI::Validator codec_spec(bool allow_auto);
CLI::Validator schedule_spec();
CLI::Validator optimizer_spec();  ///< sgd, adam or adamw
CLI::Validator pins_spec();
CLI::Validator bucket_spec();

/// Runs the parse, printing a parse error as one line ("tandem train: --lr: expected …") and
/// returning the exit status (2 for bad usage, 0 after --help); -1 when parsing succeeded.
int parse_or_report(CLI::App& app, int argc, char** argv);

}  // namespace tandem::cli
