#include "options.h"

#include <cerrno>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "table.h"
#include "tandem/compression/codec.h"
#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/nn/model.h"
#include "tandem/nn/optimizer.h"
#include "tandem/nn/placement.h"
#include "tandem/nn/prune.h"

namespace tandem::cli {
namespace {

// A bound as a person writes it: 1e+09, 0.001, 65536 (never 300 digits).
std::string show(double v) { return fmt("%g", v); }

std::string range_text(Range r) {
  return std::string(r.lo_open ? "(" : "[") + show(r.lo) + ", " + show(r.hi) + (r.hi_open ? ")" : "]");
}

// The number in `text`, or NaN when it is not one (trailing characters included).
double parse_number(const std::string& text) {
  if (text.empty()) return std::nan("");
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  return *end == '\0' ? v : std::nan("");
}

}  // namespace

CLI::Validator number(Range r) {
  return CLI::Validator(
      [r](std::string& text) -> std::string {
        const double v = parse_number(text);
        const bool inside =
            std::isfinite(v) && (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
        return inside ? "" : "expected a finite number in " + range_text(r) + ", not " + (text.empty() ? "\"\"" : text);
      },
      "NUMBER in " + range_text(r));
}

CLI::Validator whole(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        const bool ok = !text.empty() && *end == '\0' && errno == 0 && v >= lo && v <= hi;
        return ok ? "" : "expected a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not " +
                             (text.empty() ? "\"\"" : text);
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

CLI::Validator whole_list(int64_t lo, int64_t hi) {
  const CLI::Validator one = whole(lo, hi);
  return CLI::Validator(
      [one, lo, hi](std::string& text) -> std::string {
        if (text.empty()) return "expected comma-separated whole numbers in [" + std::to_string(lo) + ", " +
                                 std::to_string(hi) + "], not \"\"";
        for (size_t at = 0; at <= text.size();) {
          const size_t comma = std::min(text.find(',', at), text.size());
          std::string item = text.substr(at, comma - at);
          if (std::string why = one(item); !why.empty()) return why + (item == text ? "" : " (in " + text + ")");
          at = comma + 1;
        }
        return "";
      },
      "INT[,INT...]");
}

namespace {

// A validator that runs `parse` on the value and reports its Error's detail.
template <class Parse>
CLI::Validator parsed_by(Parse parse, std::string what) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          parse(text);
        } catch (const Error& e) {
          return e.detail();
        }
        return "";
      },
      std::move(what));
}

}  // namespace

CLI::Validator output_file(bool dash) {
  return parsed_by(
      [dash](const std::string& path) {
        if (!(dash && path == "-")) check_output_file(path, path);
      },
      "FILE");
}

CLI::Validator output_dir() {
  return parsed_by([](const std::string& path) { check_output_dir(path, path); }, "DIR");
}

CLI::Validator input_file() {
  return parsed_by(
      [](const std::string& path) {
        try {
          require_regular_file(path, path);
        } catch (const Error& e) {
          if (e.detail() != "cannot open: No such file or directory") throw;
          throw Error(ErrorKind::io, "", path, "no file " + path);
        }
      },
      "FILE");
}

CLI::Validator text_source() {
  const CLI::Validator file = input_file();
  return CLI::Validator(
      [file](std::string& path) -> std::string {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) return "";
        return file(path);
      },
      "FILE|DIR");
}

CLI::Validator model_source() {
  const CLI::Validator file = input_file();
  return CLI::Validator(
      [file](std::string& name) -> std::string {
        std::string names;
        for (const std::string& n : nn::builtin_model_names()) {
          if (name == n) return "";
          names += (names.empty() ? "" : ", ") + n;
        }
        if (name.starts_with("encoder:")) try {
            nn::encoder_shape(name);
            return "";
          } catch (const Error& e) {
            return e.detail();
          }
        const std::string why = file(name);
        return why.empty() ? "" : "not a built-in model (" + names + ") and not a model file: " + why;
      },
      "MODEL");
}

std::string model_help() {
  std::string names;
  for (const std::string& n : nn::builtin_model_names()) names += (names.empty() ? "" : ", ") + n;
  return "a built-in model (" + names + "; encoder:vocab=V,seq=T,width=D,layers=L,heads=H,mlp=M sets the encoder's shape) "
         "or a graph JSON file";
}

CLI::Validator non_empty() {
  return CLI::Validator([](std::string& text) -> std::string { return text.empty() ? "must not be empty" : ""; }, "TEXT");
}

CLI::Validator prune_spec() {
  return parsed_by(
      [](const std::string& t) {
        if (t.empty()) throw Error(ErrorKind::invalid_argument, "", "", "expected none, magnitude:S, global:S or 2:4, not \"\"");
        nn::parse_prune(t);
      },
      "SPEC");
}

CLI::Validator codec_spec(bool allow_auto) {
  return parsed_by(
      [allow_auto](const std::string& t) {
        if (allow_auto && (t == "auto" || t.starts_with("auto:"))) {
          const double budget = t.size() > 5 ? parse_number(t.substr(5)) : 0.05;
          if (!std::isfinite(budget) || !(budget > 0) || budget > 1)
            throw Error(ErrorKind::invalid_argument, "", "", "expected auto[:budget in (0, 1]], not " + t);
          return;
        }
        compression::parse_codec(t);
      },
      "CODEC");
}

CLI::Validator schedule_spec() {
  return parsed_by([](const std::string& t) { nn::parse_schedule(t); }, "SCHEDULE");
}

CLI::Validator optimizer_spec() {
  return parsed_by([](const std::string& t) { nn::parse_optimizer(t); }, "OPTIMIZER");
}

CLI::Validator pins_spec() {
  return parsed_by(
      [](const std::string& t) {
        if (t.empty()) throw Error(ErrorKind::invalid_argument, "", "", "expected LAYER=DEVICE[,...] or auto, not \"\"");
        if (t != "auto") nn::parse_pins(t);
      },
      "PINS");
}

CLI::Validator bucket_spec() {
  return CLI::Validator(
      [](std::string& t) -> std::string {
        if (t == "auto") return "";
        const double mb = parse_number(t);
        return std::isfinite(mb) && mb > 0 && mb <= 4096 ? "" : "expected MB in (0, 4096] or auto, not " + (t.empty() ? std::string("\"\"") : t);
      },
      "MB|auto");
}

int parse_or_report(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = app.get_name();
    for (const CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
    std::fprintf(stderr, "%s: %s\n", where.c_str(), e.what());
    return 2;
  }
  return -1;
}

}  // namespace tandem::cli
