// shared_frame.cpp -- allocation and reference counting of SharedFrame blocks.
#include "pool/shared_frame.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "common/result.hpp"

namespace tg::pool {

namespace {
std::atomic<int64_t> g_live{0};
}

SharedFrame::SharedFrame(const SharedFrame& other) : block_(other.block_) {
  if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
}

SharedFrame& SharedFrame::operator=(SharedFrame other) noexcept {
  std::swap(block_, other.block_);
  return *this;
}

SharedFrame::~SharedFrame() {
  // acq_rel: the thread that frees must see every write made before other releases.
  if (block_ && block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    block_->~Block();
    std::free(block_);
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
}

SharedFrame SharedFrame::allocate(size_t size) {
  void* mem = std::malloc(sizeof(Block) + size);
  if (!mem) abort();  // out of memory: abort, as h2o does
  Block* b = new (mem) Block{};
  b->refs.store(1, std::memory_order_relaxed);
  b->size = size;
  g_live.fetch_add(1, std::memory_order_relaxed);
  return SharedFrame(b);
}

SharedFrame SharedFrame::copy_of(std::string_view bytes) {
  SharedFrame f = allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(f.mutable_data(), bytes.data(), bytes.size());
  return f;
}

bool SharedFrame::unique() const {
  return block_ && block_->refs.load(std::memory_order_acquire) == 1;
}

char* SharedFrame::mutable_data() {
  TG_ASSERT(unique());
  return block_->bytes;
}

int64_t SharedFrame::live_count() {
  return g_live.load(std::memory_order_relaxed);
}

}  // namespace tg::pool
