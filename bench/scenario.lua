-- One benchmark scenario for wrk (LuaJIT), read or write, driven by a request file the harness writes.
--
--   wrk -t2 -c16 -d12s -s bench/scenario.lua http://127.0.0.1:PORT -- FILE MODE STOP_MS EXPECT
--
-- FILE: one request per line, tab-separated: METHOD, PATH, COOKIE (session=...; may be empty), BODY
--       (form-encoded; may be empty).
-- MODE: "cycle" (reads: each thread loops over every line, starting at its own offset) or "once" (writes:
--       thread t takes lines t, t+T, t+2T...: its own slice of voters, each used once and never shared).
-- STOP_MS: after this many milliseconds no new request is sent, so every request in flight is answered before
--       wrk stops: the harness can then compare "counted" with the database exactly. A "once" thread also stops
--       sending when its slice is used up (flagged "exhausted"). A thread with nothing left in flight writes
--       FILE.done-<thread>; once every thread has, each stops (see draining()).
-- EXPECT: what a good answer is: "status=200", "status=200;body=class=\"tracker\"", or
--       "status=302;location=#comment-". Anything else counts as refused (other 2xx-4xx) or an error (5xx).
--
-- done() prints one line "BENCH_RESULT {json}" that bench/wrkrun.py reads; wrk's own text stays above it.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
-- What a connection sends while the others' last answers are awaited (draining()): every server here serves it.
FILLER = "/static/img/icon.svg"
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

-- ---- setup (the main Lua state): number the threads, keep them for done() ---------------------------
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- ---- running (one Lua state per thread) -------------------------------------------------------------
local function split(line, sep)
  local fields, start = {}, 1
  while true do
    local i = string.find(line, sep, start, true)
    if not i then
      table.insert(fields, string.sub(line, start))
      return fields
    end
    table.insert(fields, string.sub(line, start, i - 1))
    start = i + 1
  end
end

local function parse_expect(text)
  local rule = { status = 200 }
  for _, part in ipairs(split(text or "", ";")) do
    local eq = string.find(part, "=", 1, true)
    if eq then
      local key, value = string.sub(part, 1, eq - 1), string.sub(part, eq + 1)
      if key == "status" then rule.status = tonumber(value) else rule[key] = value end
    end
  end
  return rule
end

function init(args)
  local path, mode = args[1], args[2] or "cycle"
  request_file = path
  stop_after = tonumber(args[3] or "0")
  expect = parse_expect(args[4])
  once = (mode == "once")
  nthreads = tonumber(args[5] or "1")
  local requests, index = {}, 0
  for line in io.lines(path) do
    if #line > 0 then
      local f = split(line, "\t")
      local method, target, cookie, body = f[1], f[2], f[3] or "", f[4] or ""
      if (not once) or (index % nthreads == thread_id) then
        local headers = { ["User-Agent"] = "council-bench" }
        if #cookie > 0 then headers["Cookie"] = cookie end
        if #body > 0 then headers["Content-Type"] = "application/x-www-form-urlencoded" end
        table.insert(requests, wrk.format(method, target, headers, #body > 0 and body or nil))
      end
      index = index + 1
    end
  end
  pool = requests
  size = #requests
  if not once and size > 0 then cursor = (thread_id % size) + 1 else cursor = 1 end
  reserved = 0        -- delay() said "send now" this many times and request() has not yet taken them
  fillers = 0         -- ... of which this many are fillers (draining(): not counted)
  filler = wrk.format("GET", FILLER, { ["User-Agent"] = "council-bench" })
  sent, answered, counted, refused, failed, other = 0, 0, 0, 0, 0, 0
  exhausted = false
  delayed_once = false
  marked = false
  started = now_ms()
  first_sent, last_answer = 0, 0
end

-- Deciding in delay() and taking in request() keeps "one voter, one request" even when two connections
-- of the thread ask at once: every "send now" reserves a line (or, reading, a request), every request() uses
-- one reservation.
local function all_done()
  for t = 0, nthreads - 1 do
    local marker = io.open(request_file .. ".done-" .. t, "r")
    if not marker then return false end
    marker:close()
  end
  return true
end

-- After the window (or once a "once" thread's slice is used up) no request is counted any more. A connection that
-- asks then is never left open and idle while an answer is still owed to any thread: a sync gunicorn worker that
-- accepted it would wait for its request, and the answers still owed would queue behind it until wrk quits (the
-- server then takes them after the harness has looked: answers lost, writes it cannot account for). So it sends a
-- filler (a small static file, never counted: see response()). When every request this thread sent is answered it
-- says so in FILE.done-<thread>; once every thread has, it stops and the harness interrupts wrk.
local function draining()
  if answered >= sent and reserved == fillers and not marked then
    marked = true
    local marker = io.open(request_file .. ".done-" .. thread_id, "w")
    if marker then marker:close() end
  end
  if marked and all_done() then
    wrk.thread:stop()
    return 3600000
  end
  reserved = reserved + 1
  fillers = fillers + 1
  return 0
end

function delay()
  delayed_once = true
  if stop_after > 0 and now_ms() - started >= stop_after then return draining() end
  if once and cursor + (reserved - fillers) > size then
    exhausted = true
    return draining()
  end
  reserved = reserved + 1
  return 0
end

function request()
  if size == 0 then return wrk.format("GET", "/") end
  -- wrk calls request() once on the first thread before it starts, to check the request parses; it is never
  -- sent, so it takes no voter (every real request comes after a delay()).
  if not delayed_once then return pool[1] end
  if reserved > 0 then reserved = reserved - 1 end
  if fillers > 0 then
    fillers = fillers - 1
    return filler
  end
  if not once then
    local req = pool[cursor]
    cursor = cursor % size + 1
    sent = sent + 1
    if first_sent == 0 then first_sent = now_ms() end
    return req
  end
  -- wrk asks without delay() after a socket error (it reconnects and sends again): that takes a voter too;
  -- with none left, the request is a filler.
  if cursor > size then
    exhausted = true
    return filler
  end
  local req = pool[cursor]
  cursor = cursor + 1
  sent = sent + 1
  if first_sent == 0 then first_sent = now_ms() end
  return req
end

function response(status, headers, body)
  if string.find(headers["Content-Type"] or "", "image/svg", 1, true) then return end  -- a filler's
  answered = answered + 1
  last_answer = now_ms()
  if status == expect.status
      and (expect.body == nil or (body ~= nil and string.find(body, expect.body, 1, true)))
      and (expect.location == nil or string.find(headers["Location"] or "", expect.location, 1, true)) then
    counted = counted + 1
    return
  end
  if status >= 500 then failed = failed + 1 else refused = refused + 1 end
  if other == 0 then
    -- the thread's first unexpected answer, kept next to the request file to say what went wrong
    other = status
    local saved = io.open(request_file .. ".unexpected-" .. thread_id .. ".html", "w")
    if saved then
      saved:write("<!-- status " .. status .. ", Location: " .. (headers["Location"] or "") .. " -->\n")
      saved:write(body or "")
      saved:close()
    end
  end
end

-- ---- done (the main Lua state again) ----------------------------------------------------------------
local function num(value) return string.format("%.3f", tonumber(value) or 0) end

function done(summary, latency, requests)
  local parts = {}
  local function add(key, value) table.insert(parts, string.format('"%s": %s', key, value)) end
  add("duration_us", num(summary.duration))
  add("requests", num(summary.requests))
  add("bytes", num(summary.bytes))
  add("errors", string.format('{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
  add("latency_us", string.format('{"mean": %s, "max": %s, "p50": %s, "p90": %s, "p95": %s, "p99": %s}',
    num(latency.mean), num(latency.max), num(latency:percentile(50)), num(latency:percentile(90)),
    num(latency:percentile(95)), num(latency:percentile(99))))
  local rows = {}
  for _, t in ipairs(threads) do
    table.insert(rows, string.format(
      '{"size": %d, "sent": %d, "answered": %d, "counted": %d, "refused": %d, "failed": %d, ' ..
      '"first_status": %d, "exhausted": %s, "first_sent_ms": %s, "last_answer_ms": %s}',
      t:get("size") or 0, t:get("sent") or 0, t:get("answered") or 0, t:get("counted") or 0,
      t:get("refused") or 0, t:get("failed") or 0, t:get("other") or 0,
      tostring(t:get("exhausted") == true), num(t:get("first_sent")), num(t:get("last_answer"))))
  end
  add("threads", "[" .. table.concat(rows, ", ") .. "]")
  io.write("BENCH_RESULT {" .. table.concat(parts, ", ") .. "}\n")
end
