// shared_frame.hpp -- SharedFrame: an immutable, reference-counted byte buffer that one
// thread builds once and every Shard writes to many sockets without copying.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tg::pool {

// A handle to an immutable block of bytes. Copying a handle adds a reference (atomic,
// so handles may be copied and dropped on any thread); the block is freed with its
// last handle. The bytes may be written only through mutable_data() while the handle
// is the only one (right after allocate()), before the frame is shared.
class SharedFrame {
 public:
  SharedFrame() = default;
  SharedFrame(const SharedFrame& other);
  SharedFrame(SharedFrame&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  SharedFrame& operator=(SharedFrame other) noexcept;
  ~SharedFrame();

  // A frame of exactly `size` uninitialised bytes. Aborts when out of memory.
  static SharedFrame allocate(size_t size);
  // A frame holding a copy of `bytes`.
  static SharedFrame copy_of(std::string_view bytes);

  const char* data() const { return block_ ? block_->bytes : nullptr; }
  size_t size() const { return block_ ? block_->size : 0; }
  std::string_view view() const { return {data(), size()}; }
  char* mutable_data();  // only while unique(); asserts otherwise
  bool unique() const;
  explicit operator bool() const { return block_ != nullptr; }

  // Frames alive in the process (for tests and the metrics' memory gauge).
  static int64_t live_count();

 private:
  struct Block {
    std::atomic<uint32_t> refs;
    size_t size;
    char bytes[];
  };
  explicit SharedFrame(Block* b) : block_(b) {}
  Block* block_ = nullptr;
};

}  // namespace tg::pool
