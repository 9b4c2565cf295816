-- wrk script of bench/web.py: every request signs in as the next of N users (their session
-- cookies, one per line in the file named by the second argument), and optionally reports an
-- app version the way a mobile app does (X-App-Version).
--
--   wrk ... -s bench/web.lua URL -- MODE SESSIONS_FILE PREFIX
--
-- MODE: off    no X-App-Version header (nothing recorded)
--       steady each user always reports the same version, one of three: after its first
--              request of the hour the app only checks its cache
--       worst  one user floods: every request is that user's, reporting a version never seen
--              before (after its daily allowance of new versions, each is refused)
-- PREFIX makes the "worst" versions unique across runs.
-- done() prints one WRK_RESULT line that bench/web.py parses (latencies in microseconds).

local sessions = {}
local versions = { "4.0.0", "4.1.0", "4.2.0" }
local mode = "off"
local prefix = "w"
local counter = 0
local threads_started = 0

function setup(thread)
  thread:set("thread_id", threads_started)
  threads_started = threads_started + 1
end

function init(args)
  mode = args[1] or "off"
  prefix = args[3] or "w"
  for line in io.lines(args[2]) do
    if #line > 0 then
      sessions[#sessions + 1] = line
    end
  end
  -- Threads start at different users, then each walks through all of them in turn.
  counter = (thread_id or 0) * 7919
end

function request()
  counter = counter + 1
  local index = counter % #sessions + 1
  if mode == "worst" then
    index = 1
  end
  local headers = { Cookie = "sessionid=" .. sessions[index] }
  if mode == "steady" then
    headers["X-App-Version"] = versions[index % #versions + 1]
  elseif mode == "worst" then
    -- A release number (a digit first), so it is not refused before the allowance is.
    headers["X-App-Version"] = string.format("9.%s.%d.%d", prefix, thread_id or 0, counter)
  end
  return wrk.format(nil, nil, headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
