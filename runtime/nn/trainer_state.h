// Trainer's internals shared by its files (trainer.cpp: construction and the loop;
// trainer_checkpoint.cpp: checkpoints, resume and export): where training stands.
#pragma once

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tandem/error.h"
#include "tandem/json_read.h"
#include "tandem/nn/trainer.h"

namespace tandem::nn {

using nlohmann::json;

[[noreturn]] inline void bad_config(const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "", "train", what);
}

// Where training stands; everything here is saved in checkpoints.
struct Trainer::State {
  int epoch = 0;              // current epoch (0-based)
  int64_t step_in_epoch = 0;  // optimizer steps done in the current epoch
  int64_t step = 0;           // optimizer steps done in total
  double epoch_loss_sum = 0;  // sum of the current epoch's step losses (this rank's)
  // Every rank's epoch_loss_sum, gathered when a checkpoint is saved: an epoch's loss is the mean
  // over the ranks of their own, so a resume mid-epoch must give each rank back its own sum.
  std::vector<double> epoch_loss_sums;
  double epoch_seconds = 0;  // training time of the current epoch so far
  int prune_steps_done = 0;
  std::vector<int64_t> shares;  // the split of a step's samples over the ranks
  int64_t optimizer_steps = 0;  // the optimizer's step count (Adam's t), at most `step`

  json to_json() const {
    return {{"epoch", epoch},
            {"step_in_epoch", step_in_epoch},
            {"step", step},
            {"epoch_loss_sum", epoch_loss_sum},
            {"epoch_loss_sums", epoch_loss_sums},
            {"epoch_seconds", epoch_seconds},
            {"prune_steps_done", prune_steps_done},
            {"shares", shares},
            {"optimizer_steps", optimizer_steps}};
  }
  // A checkpoint's "state", every field checked before any is taken: a crafted or damaged file
  // must not steer the run outside its data (a negative step_in_epoch would index before the
  // epoch's sample order). `steps_per_epoch` and `epochs` bound the progress; `bad` throws.
  static State from_json(const json& j, int epochs, int64_t steps_per_epoch, int prune_steps, int ranks,
                         const std::function<void(const std::string&)>& bad) {
    if (!j.is_object()) bad("\"state\" is not an object");
    const auto integer = [&](const char* key, int64_t lo, int64_t hi) {
      if (!j.contains(key)) bad("\"state\" lacks \"" + std::string(key) + "\"");
      const json& v = j[key];
      const std::optional<int64_t> i = json_integer<int64_t>(v);
      if (!i || *i < lo || *i > hi)
        bad("state " + std::string(key) + " = " + v.dump() + " is not an integer in [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "]");
      return *i;
    };
    const auto real = [&](const char* key) {
      if (!j.contains(key)) bad("\"state\" lacks \"" + std::string(key) + "\"");
      const json& v = j[key];
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        bad("state " + std::string(key) + " = " + v.dump() + " is not a finite number");
      return v.get<double>();
    };
    State st;
    st.epoch = static_cast<int>(integer("epoch", 0, epochs));
    // An epoch ends once its last step is done; a finished run (epoch = epochs) has no steps left.
    st.step_in_epoch = integer("step_in_epoch", 0, st.epoch == epochs ? 0 : steps_per_epoch);
    st.step = integer("step", 0, INT64_MAX);
    // Absent in checkpoints from before Adam, whose optimizer (SGD) stepped once per step.
    st.optimizer_steps = j.contains("optimizer_steps") ? integer("optimizer_steps", 0, st.step) : st.step;
    st.epoch_loss_sum = real("epoch_loss_sum");
    if (j.contains("epoch_loss_sums")) {  // absent in checkpoints of one process, and older ones
      const json& v = j["epoch_loss_sums"];
      if (!v.is_array() || (!v.empty() && v.size() != static_cast<size_t>(ranks)))
        bad("state epoch_loss_sums = " + v.dump() + " is not a list of one sum per rank (" + std::to_string(ranks) +
            ")");
      for (const json& x : v) {
        if (!x.is_number() || !std::isfinite(x.get<double>()))
          bad("state epoch_loss_sums = " + v.dump() + " is not a list of finite numbers");
        st.epoch_loss_sums.push_back(x.get<double>());
      }
    }
    st.epoch_seconds = real("epoch_seconds");
    if (st.epoch_seconds < 0) bad("state epoch_seconds = " + std::to_string(st.epoch_seconds) + " is negative");
    st.prune_steps_done = static_cast<int>(integer("prune_steps_done", 0, prune_steps));
    if (j.contains("shares")) {
      const json& s = j["shares"];
      if (!s.is_array()) bad("state shares = " + s.dump() + " is not a list");
      for (const json& v : s) {
        const std::optional<int64_t> share = json_integer<int64_t>(v);
        if (!share) bad("state shares = " + s.dump() + " is not a list of integers");
        st.shares.push_back(*share);
      }
    }
    return st;
  }
};

}  // namespace tandem::nn
