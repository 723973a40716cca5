// name_registry.cpp -- the process-wide set of claimed user names.
#include "gateway/name_registry.hpp"

namespace tg::gateway {

bool NameRegistry::claim(const std::string& name) {
  std::lock_guard lock(mu_);
  return names_.insert(name).second;
}

bool NameRegistry::rename(const std::string& old_name, const std::string& new_name) {
  std::lock_guard lock(mu_);
  if (!names_.insert(new_name).second) return false;
  names_.erase(old_name);
  return true;
}

void NameRegistry::release(const std::string& name) {
  std::lock_guard lock(mu_);
  names_.erase(name);
}

size_t NameRegistry::size() {
  std::lock_guard lock(mu_);
  return names_.size();
}

}  // namespace tg::gateway
