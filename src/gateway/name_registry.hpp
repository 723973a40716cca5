// name_registry.hpp -- NameRegistry: the process-wide set of claimed user names.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_set>

namespace tg::gateway {

// Shared by all Shards; claims are rare (connect, rename, disconnect), so one mutex.
class NameRegistry {
 public:
  // Claims `name`. Returns false when someone holds it.
  bool claim(const std::string& name);
  // Moves a holder from `old_name` to `new_name`; false (nothing changed) when taken.
  bool rename(const std::string& old_name, const std::string& new_name);
  void release(const std::string& name);
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_set<std::string> names_;
};

}  // namespace tg::gateway
