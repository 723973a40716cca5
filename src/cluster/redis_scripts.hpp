// redis_scripts.hpp -- the Lua scripts of the Redis backplane (redis_backplane.hpp has
// the key layout). Each runs atomically in Redis, so a room's head, its log and its
// member shares change together. All keys of a script are one room's, in one hash slot.
#pragma once

namespace tg::cluster::scripts {

// Shared head of the scripts: the room's member count, every node's share whose lease
// is alive (a lapsed share is removed; the calling node's own share never lapses here).
// KEYS[1] is the meta hash; `node` the caller; `now_ms` Redis's clock.
#define TG_LUA_ONLINE                                          \
  "local function online_of(node, now_ms)\n"                   \
  "  local total = 0\n"                                        \
  "  local h = redis.call('HGETALL', KEYS[1])\n"               \
  "  local lease = {}\n"                                       \
  "  for i = 1, #h, 2 do\n"                                    \
  "    if string.sub(h[i], 1, 2) == 'l:' then\n"               \
  "      lease[string.sub(h[i], 3)] = tonumber(h[i + 1])\n"    \
  "    end\n"                                                  \
  "  end\n"                                                    \
  "  for i = 1, #h, 2 do\n"                                    \
  "    if string.sub(h[i], 1, 2) == 'n:' then\n"               \
  "      local who = string.sub(h[i], 3)\n"                    \
  "      if who ~= node and (lease[who] or 0) < now_ms then\n" \
  "        redis.call('HDEL', KEYS[1], h[i], 'l:' .. who)\n"   \
  "      else\n"                                               \
  "        total = total + tonumber(h[i + 1])\n"               \
  "      end\n"                                                \
  "    end\n"                                                  \
  "  end\n"                                                    \
  "  if total < 0 then total = 0 end\n"                        \
  "  return total\n"                                           \
  "end\n"                                                      \
  "local t = redis.call('TIME')\n"                             \
  "local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

// append: KEYS meta, log. ARGV: 1 epoch, 2 expected batch, 3 expected msg, 4 expected
// online, 5 count, 6 online delta, 7 node, 8 zstd, 9 raw bytes, 10 window us, 11 log
// byte budget, 12 ttl ms, 13 lease ms, 14 the room's wake-up channel.
// Returns {status, epoch, batch, msg, online, append time us}: OK (appended; the head
// after it), CONFLICT (the head differs from the expected one: the head found), EPOCH
// (another epoch or no log: the head found, epoch '0' when none).
inline constexpr const char* kAppend = TG_LUA_ONLINE
    "local epoch = redis.call('HGET', KEYS[1], 'epoch')\n"
    "if not epoch then return {'EPOCH', '0', 0, 0, 0, '0'} end\n"
    "local batch = tonumber(redis.call('HGET', KEYS[1], 'batch'))\n"
    "local msg = tonumber(redis.call('HGET', KEYS[1], 'msg'))\n"
    "local online = online_of(ARGV[7], now_ms)\n"
    "if epoch ~= ARGV[1] then return {'EPOCH', epoch, batch, msg, online, '0'} end\n"
    "if batch ~= tonumber(ARGV[2]) or msg ~= tonumber(ARGV[3]) or\n"
    "   online ~= tonumber(ARGV[4]) then\n"
    "  return {'CONFLICT', epoch, batch, msg, online, '0'}\n"
    "end\n"
    "batch = batch + 1\n"
    "local first = msg + 1\n"
    "msg = msg + tonumber(ARGV[5])\n"
    "online = online + tonumber(ARGV[6])\n"
    "if online < 0 then online = 0 end\n"
    "local us = t[1] .. string.format('%06d', tonumber(t[2]))\n"
    "redis.call('XADD', KEYS[2], string.format('%d-0', msg), 'b', string.format('%d', batch),\n"
    "  'f', string.format('%d', first), 'o', string.format('%d', online), 'w', ARGV[10],\n"
    "  'r', ARGV[9], 't', us, 'n', ARGV[7], 'z', ARGV[8])\n"
    "redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[7], ARGV[6])\n"
    "redis.call('HSET', KEYS[1], 'batch', string.format('%d', batch),\n"
    "  'msg', string.format('%d', msg),\n"
    "  'l:' .. ARGV[7], string.format('%d', now_ms + tonumber(ARGV[13])))\n"
    "local bytes = redis.call('HINCRBY', KEYS[1], 'bytes', #ARGV[8])\n"
    "while bytes > tonumber(ARGV[11]) do\n"
    "  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 2)\n"
    "  if #oldest < 2 then break end\n"
    "  local size = 0\n"
    "  local f = oldest[1][2]\n"
    "  for i = 1, #f, 2 do if f[i] == 'z' then size = #f[i + 1] end end\n"
    "  redis.call('XDEL', KEYS[2], oldest[1][1])\n"
    "  bytes = redis.call('HINCRBY', KEYS[1], 'bytes', -size)\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[12])\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[12])\n"
    "redis.call('PUBLISH', ARGV[14], ARGV[7] .. ' ' .. string.format('%d', msg))\n"
    "return {'OK', epoch, batch, msg, online, us}\n";

// open: KEYS meta, log. ARGV: 1 min msg, 2 from msg (0: none), 3 to msg (0: the newest),
// 4 byte budget of what is returned, 5 ttl ms, 6 node, 7 the epoch the caller knows ('0':
// none).
// A room without a log, or whose log is still the caller's epoch but ends before `min
// msg` (Redis lost writes the caller saw), starts a new epoch (Redis's clock in us): a
// new, empty log. A log already of another epoch (another node started it) is kept.
// Returns {epoch, batch, msg, online, entries}: the entries with messages in
// [from, to], newest first, as many as fit the budget (at least one).
inline constexpr const char* kOpen = TG_LUA_ONLINE
    "local m = redis.call('HMGET', KEYS[1], 'epoch', 'batch', 'msg')\n"
    "local epoch = m[1]\n"
    "if (not epoch) or (epoch == ARGV[7] and tonumber(m[3]) < tonumber(ARGV[1])) then\n"
    "  epoch = t[1] .. string.format('%06d', tonumber(t[2]))\n"
    "  redis.call('DEL', KEYS[1], KEYS[2])\n"
    "  redis.call('HSET', KEYS[1], 'epoch', epoch, 'batch', '0', 'msg', '0', 'bytes', '0')\n"
    "  m[2] = '0'\n"
    "  m[3] = '0'\n"
    "end\n"
    "local online = online_of(ARGV[6], now_ms)\n"
    "local entries = {}\n"
    "if tonumber(ARGV[2]) > 0 then\n"
    "  local hi = '+'\n"
    "  if ARGV[3] ~= '0' then hi = ARGV[3] end\n"
    "  local found = redis.call('XREVRANGE', KEYS[2], hi, ARGV[2], 'COUNT', 10000)\n"
    "  local bytes = 0\n"
    "  for _, e in ipairs(found) do\n"
    "    local f = e[2]\n"
    "    for i = 1, #f, 2 do if f[i] == 'z' then bytes = bytes + #f[i + 1] end end\n"
    "    if bytes > tonumber(ARGV[4]) and #entries > 0 then break end\n"
    "    entries[#entries + 1] = e\n"
    "  end\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[5])\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[5])\n"
    "return {epoch, tonumber(m[2]), tonumber(m[3]), online, entries}\n";

// heartbeat: KEYS meta. ARGV: 1 node, 2 members (restored if the share lapsed), 3 lease
// ms. Keeps the caller's share of the room's members alive.
inline constexpr const char* kHeartbeat =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "if redis.call('HEXISTS', KEYS[1], 'n:' .. ARGV[1]) == 0 then\n"
    "  redis.call('HSET', KEYS[1], 'n:' .. ARGV[1], ARGV[2])\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], string.format('%d', now_ms + "
    "tonumber(ARGV[3])))\n"
    "return 1\n";

// release_name: KEYS name. ARGV: 1 owner. Deletes the claim if it is still the owner's.
inline constexpr const char* kReleaseName =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

// refresh_name: KEYS name. ARGV: 1 owner, 2 ttl ms. Extends the owner's claim; claims the
// name again if the claim was lost (Redis restarted without persistence) and nobody took
// it meanwhile. Returns 1 while the owner holds it, 0 when someone else does.
inline constexpr const char* kRefreshName =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0\n";

#undef TG_LUA_ONLINE

}  // namespace tg::cluster::scripts
