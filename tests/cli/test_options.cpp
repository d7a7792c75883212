// Every option of every `tandem` subcommand, walked through the rules of tools/tandem/options.h:
// each option that takes a value has a row in the table below (an option without one fails
// OptionTable.CoversEveryOption), and each bad value of each row ends with one line naming the
// option, value or device, before any work starts — and leaves whatever was at an output path
// as it was. A new option joins by one row.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "commands.h"
#include "tandem/error.h"
#include "tandem/file.h"

namespace tandem::cli {
namespace {

namespace fs = std::filesystem;

enum class Kind {
  number,       // finite, in range: the row adds its out-of-range values
  output_file,  // never a directory, device, FIFO or a missing directory
  output_dir,   // a writable directory or one that can be made
  input,        // a regular file (or a built-in model name)
  choice,       // one of a fixed set, or a spec parsed as the command parses it
  device,       // device ids, checked when the command starts (before any work)
};

struct Row {
  std::string command, option;
  Kind kind;
  std::vector<std::string> bad = {};  // beyond the kind's own: refused at parse
  // Refused when the command starts, before any work: what needs the model (layer names) or
  // the devices. The error names the option.
  std::vector<std::string> bad_at_start = {};
};

// Paths the output and input rows are aimed at; each must be left as it was.
struct Targets {
  fs::path dir = fs::temp_directory_path() / ("tandem-options-" + std::to_string(getpid()));
  Targets() {
    fs::remove_all(dir);
    fs::create_directories(dir / "a-directory");
    write_file_atomic((dir / "a-file").string(), "keep");
    EXPECT_EQ(mkfifo((dir / "a-fifo").c_str(), 0600), 0);
    fs::create_symlink("/dev/null", dir / "link-to-null");
  }
  ~Targets() { fs::remove_all(dir); }
  std::string at(const char* name) const { return (dir / name).string(); }
  std::vector<std::string> bad_outputs() const {
    return {at("a-directory"), "/dev/null", at("a-fifo"), at("link-to-null"), at("no-such-dir/out"), ""};
  }
  std::vector<std::string> bad_dirs() const { return {at("a-file"), "/dev/null", at("a-file/sub"), ""}; }
  std::vector<std::string> bad_inputs() const { return {at("a-fifo"), "/dev/null", at("absent.json"), at("a-directory")}; }
  void expect_untouched() const {
    struct stat st {};
    EXPECT_TRUE(fs::is_directory(at("a-directory")));
    EXPECT_TRUE(lstat(at("a-fifo").c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
    EXPECT_TRUE(fs::is_symlink(at("link-to-null")));
    EXPECT_TRUE(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) << "/dev/null was replaced";
    EXPECT_FALSE(fs::exists(at("no-such-dir")));
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    EXPECT_EQ(names, (std::set<std::string>{"a-directory", "a-file", "a-fifo", "link-to-null"}));
  }
};

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
      {"", "--log", Kind::choice, {"loud", ""}},
      {"bench", "--json", Kind::output_file},
      {"bench", "--seconds", Kind::number, {"0", "-1", "3601"}},
      {"train", "--model", Kind::input},
      {"train", "--data", Kind::choice, {"/nonexistent-data-dir"}},
      {"train", "--text", Kind::choice, {"/nonexistent-text", "/dev/null"}},
      {"train", "--tokens", Kind::input},
      {"train", "--plot", Kind::output_file},
      {"train", "--vocab", Kind::input},
      {"train", "--token-bits", Kind::choice, {"8", "24"}},
      {"train", "--synthetic-tokens", Kind::number, {"0", "1", "-4"}},
      {"train", "--test-fraction", Kind::number, {"0", "0.9", "-1"}},
      {"train", "--device", Kind::device, {"nosuch:0", "cpu:7"}},
      {"train", "--comm", Kind::choice, {"tcp", ""}},
      {"train", "--place", Kind::choice, {"", "conv1", "=cpu:0"}, {"conv9=cpu:0", "fc*=cpu:0,fc1=fpga-sim:0"}},
      {"train", "--epochs", Kind::number, {"0", "-3", "100001", "1.5"}},
      {"train", "--batch", Kind::number, {"0", "1048577"}},
      {"train", "--accumulate", Kind::number, {"0", "4097"}},
      {"train", "--chunk", Kind::number, {"0"}},
      {"train", "--optimizer", Kind::choice, {"", "lamb", "Adam", "adam,sgd"}},
      {"train", "--lr", Kind::number, {"0", "-0.1", "1001"}},
      {"train", "--momentum", Kind::number, {"-0.1", "1"}},
      {"train", "--beta1", Kind::number, {"-0.1", "1", "1.5"}},
      {"train", "--beta2", Kind::number, {"-0.001", "1"}},
      {"train", "--adam-eps", Kind::number, {"0", "-1e-8", "2"}},
      {"train", "--weight-decay", Kind::number, {"-1", "2"}},
      {"train", "--schedule", Kind::choice, {"linear", ""}},
      {"train", "--warmup-steps", Kind::number, {"-1", "1.5", "1e12"}},
      {"train", "--clip-norm", Kind::number, {"-1", "1e10"}},
      {"train", "--seed", Kind::number, {"-1", "1.5"}},
      {"train", "--prune", Kind::choice, {"", "magnitude:1.5", "magnitude:nan", "3:4"}},
      {"train", "--prune-at", Kind::number, {"-1"}},
      {"train", "--prune-steps", Kind::number, {"0", "1001"}},
      {"train", "--compress", Kind::choice, {"", "zip", "topk:nan", "topk:2", "auto:nan", "auto:0"}},
      {"train", "--checkpoint", Kind::output_dir},
      {"train", "--checkpoint-every", Kind::number, {"-1"}},
      {"train", "--max-steps", Kind::number, {"-3", "0"}},
      {"train", "--metrics", Kind::output_file},
      {"train", "--export", Kind::output_file},
      {"train", "--train-subset", Kind::number, {"0", "-5"}},
      {"train", "--test-subset", Kind::number, {"0"}},
      {"train", "--target-accuracy", Kind::number, {"-0.1", "1.5"}},
      {"train", "--sync", Kind::choice, {"gossip"}},
      {"train", "--bucket", Kind::choice, {"", "0", "-1", "nan", "4097", "big"}},
      {"train", "--comm-timeout", Kind::number, {"0", "-1", "86401"}},
      {"topo", "--xml", Kind::input},
      {"topo", "--ranks", Kind::number, {"-1", "65537"}},
      {"topo", "--kind", Kind::choice, {"tpu"}},
      {"topo", "--json", Kind::output_file},
      {"topo", "--svg", Kind::output_file},
      {"plan", "--model", Kind::input},
      {"plan", "--devices", Kind::device, {"nosuch:0"}},
      {"plan", "--place", Kind::choice, {"", "fc1"}, {"conv9=cpu:0", "fc*=cpu:0,fc1=opencl:0", "fc1=fpga-sim:0"}},
      {"plan", "--batch", Kind::number, {"0", "100000000"}},
      {"plan", "--profile", Kind::output_file},
      {"plan", "--repeats", Kind::number, {"0", "101"}},
      {"plan", "--json", Kind::output_file},
      {"calibrate", "--devices", Kind::device, {"nosuch:0"}},
      {"calibrate", "--models", Kind::input},
      {"calibrate", "--batches", Kind::number, {"0", "99999999", "2,x"}},
      {"calibrate", "--repeats", Kind::number, {"0", "1001"}},
      {"calibrate", "--profile", Kind::output_file},
      {"model", "--model", Kind::input},
      {"compare", "--model", Kind::input},
      {"compare", "--devices", Kind::device, {"nosuch:0"}},
      {"compare", "--batch", Kind::number, {"0", "1,,4", "1,x", "2000000"}},
      {"compare", "--mode", Kind::choice, {"fast"}},
      {"compare", "--pruned", Kind::choice, {"", "global:2"}},
      {"compare", "--compress", Kind::choice, {"zip", "auto"}},
      {"compare", "--repeats", Kind::number, {"0", "1001"}},
      {"compare", "--warmup", Kind::number, {"-1", "1001"}},
      {"compare", "--seed", Kind::number, {"-1"}},
      {"compare", "--out", Kind::output_dir},
      {"compare", "--json", Kind::output_file},
      {"compare", "--csv", Kind::output_file},
      {"compare", "--html", Kind::output_file},
  };
  return rows;
}

// Valid, quick arguments for each command, so that a check that is missing shows as a command
// that ran and succeeded (a test failure), not as a long run.
std::vector<std::string> quick_args(const std::string& command, const Targets& t) {
  const std::string profile = t.at("profile.json");
  if (command == "train") return {"--model", "mlp", "--epochs", "1", "--train-subset", "64", "--test-subset", "64"};
  if (command == "bench") return {"--seconds", "0.001"};
  if (command == "model") return {"--model", "mlp"};
  if (command == "plan") return {"--model", "mlp", "--devices", "cpu:0", "--profile", profile};
  if (command == "calibrate")
    return {"--models", "mlp", "--batches", "1", "--repeats", "1", "--devices", "cpu:0", "--profile", profile};
  if (command == "compare") return {"--model", "mlp", "--devices", "cpu:0", "--batch", "1", "--repeats", "1", "--warmup", "0"};
  if (command == "") return {"info"};
  return {};
}

// Runs `tandem <command> <quick args> <option> <value>` in this process; the error it ends
// with ("" when it ran to the end).
std::string run(const Row& row, const std::string& value, const Targets& t) {
  std::vector<std::string> args = {"tandem"};
  if (!row.command.empty()) args.push_back(row.command);
  std::vector<std::string> quick = quick_args(row.command, t);
  for (size_t i = 0; i + 1 < quick.size(); ++i)  // the row's option replaces the quick one's value
    if (quick[i] == row.option) quick.erase(quick.begin() + static_cast<std::ptrdiff_t>(i), quick.begin() + static_cast<std::ptrdiff_t>(i) + 2);
  if (row.command.empty()) {
    args.insert(args.end(), {row.option, value});
    args.insert(args.end(), quick.begin(), quick.end());
  } else {
    args.insert(args.end(), quick.begin(), quick.end());
    args.insert(args.end(), {row.option, value});
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  const std::unique_ptr<CLI::App> app = make_app();
  try {
    app->parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return std::string("parse: ") + e.what();
  } catch (const Error& e) {
    return std::string("run: ") + e.what();
  }
  return "";
}

std::vector<std::string> bad_values(const Row& row, const Targets& t) {
  std::vector<std::string> v = row.bad;
  const auto add = [&](const std::vector<std::string>& more) { v.insert(v.end(), more.begin(), more.end()); };
  switch (row.kind) {
    case Kind::number: add({"nan", "inf", "-inf", "1e400", "abc", ""}); break;
    case Kind::output_file: add(t.bad_outputs()); break;
    case Kind::output_dir: add(t.bad_dirs()); break;
    case Kind::input: add(t.bad_inputs()); break;
    case Kind::choice:
    case Kind::device: break;
  }
  return v;
}

TEST(OptionTable, CoversEveryOption) {
  const std::unique_ptr<CLI::App> app = make_app();
  std::set<std::pair<std::string, std::string>> listed;
  for (const Row& r : table()) listed.insert({r.command, r.option});
  std::vector<std::pair<std::string, const CLI::App*>> commands = {{"", app.get()}};
  for (const CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) commands.emplace_back(sub->get_name(), sub);
  EXPECT_EQ(commands.size(), 9u) << "a new subcommand: give its options rows";
  for (const auto& [name, cmd] : commands)
    for (const CLI::Option* opt : cmd->get_options()) {
      if (opt->get_expected_min() == 0) continue;  // a flag: no value to check
      EXPECT_TRUE(listed.count({name, opt->get_name()}))
          << "tandem " << name << " " << opt->get_name() << " has no row in tests/cli/test_options.cpp";
    }
}

TEST(OptionTable, EveryBadValueIsOneLineNamingTheOption) {
  const Targets t;
  for (const Row& row : table())
    for (const std::string& value : bad_values(row, t)) {
      const std::string where = "tandem " + row.command + " " + row.option + " '" + value + "'";
      const std::string error = run(row, value, t);
      ASSERT_FALSE(error.empty()) << where << " was accepted";
      EXPECT_EQ(error.find('\n'), std::string::npos) << where << ": more than one line: " << error;
      if (row.kind == Kind::device)  // found when the command starts: the error names the device
        EXPECT_NE(error.find(value.substr(0, value.find(':'))), std::string::npos) << where << ": " << error;
      else
        EXPECT_TRUE(error.starts_with("parse: ") && error.find(row.option) != std::string::npos)
            << where << ": not refused at parse naming the option: " << error;
    }
  for (const Row& row : table())
    for (const std::string& value : row.bad_at_start) {
      const std::string where = "tandem " + row.command + " " + row.option + " '" + value + "'";
      const std::string error = run(row, value, t);
      EXPECT_TRUE(error.starts_with("run: ") && error.find(row.option) != std::string::npos && error.find('\n') == std::string::npos)
          << where << ": not one line naming the option: " << error;
    }
  t.expect_untouched();  // nothing written: not even the profile a calibration would have left
}

// Ranges read as a person writes them, never as a 300-digit bound.
TEST(OptionTable, RangesReadPlainly) {
  const Targets t;
  EXPECT_EQ(run({"train", "--lr", Kind::number}, "inf", t),
            "parse: --lr: expected a finite number in (0, 1000], not inf");
  EXPECT_EQ(run({"train", "--beta2", Kind::number}, "1", t),
            "parse: --beta2: expected a finite number in [0, 1), not 1");
  EXPECT_EQ(run({"train", "--optimizer", Kind::choice}, "lamb", t),
            "parse: --optimizer: unknown optimizer 'lamb' (sgd, adam, adamw)");
  EXPECT_EQ(run({"train", "--comm-timeout", Kind::number}, "nan", t),
            "parse: --comm-timeout: expected a finite number in [0.1, 86400], not nan");
  EXPECT_EQ(run({"train", "--train-subset", Kind::number}, "0", t),
            "parse: --train-subset: expected a whole number in [1, 2147483648], not 0");
}

}  // namespace
}  // namespace tandem::cli
