// progress.hpp -- the once-a-second status line and CSV row of a running swarm.
#pragma once

#include <cstdio>
#include <string>

#include "bots/counters.hpp"
#include "bots/histogram.hpp"

namespace tg::bots {

// Turns two successive Counters snapshots and the interval's histograms into one line
// of text and one CSV row. Owns the CSV file (if any). Main thread only.
class Progress {
 public:
  // `csv_path` empty: no CSV. Throws std::runtime_error when the file can't be opened
  // (startup only).
  Progress(const std::string& csv_path, bool ping);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Prints one line for the second ending at `t_s` to stdout (unless `quiet`) and
  // appends one CSV row. `now` are cumulative counters; the previous call's are
  // remembered; `latency_us`/`ping_us` hold only this interval's samples.
  void tick(double t_s, const char* phase, const Counters& now, const Histogram& latency_us,
            const Histogram& ping_us, bool quiet);

  // The status line tick() prints, without printing it (for tests).
  std::string line(double t_s, const char* phase, const Counters& now, const Histogram& latency_us,
                   const Histogram& ping_us) const;

 private:
  std::FILE* csv_ = nullptr;
  bool ping_;
  Counters prev_;
  double prev_t_ = 0;
};

}  // namespace tg::bots
