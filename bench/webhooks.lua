-- wrk script: POST pre-signed webhooks, each one once, then stop.
-- Usage: wrk -t T -c C -d MAX --script webhooks.lua URL -- BODIES_FILE THREADS DONE_PREFIX
-- Each line of BODIES_FILE is "<hex signature>\t<json body>"; thread k sends lines k, k+T, k+2T, ...
-- When a thread has run out, its connections send nothing more; once its answers are all in, it
-- creates DONE_PREFIX<k> and stops. wrk itself sleeps for its whole -d: the caller sends SIGINT once every
-- thread is done, and wrk then prints the result of done().

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  done_file = args[3] .. id
  requests_list = {}
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == id then
      local sig, body = line:match("^([^\t]+)\t(.*)$")
      local headers = { ["Content-Type"] = "application/json", ["X-Signature"] = sig }
      table.insert(requests_list, wrk.format("POST", nil, headers, body))
    end
    n = n + 1
  end
  sent = 0
  answered = 0
  -- wrk calls request() once on thread 0's state right after init, to inspect the request, and never sends it.
  verifying = id == 0
  statuses = {}
end

function request()
  if verifying then
    verifying = false
    return requests_list[1]
  end
  sent = sent + 1
  if sent <= #requests_list then
    return requests_list[sent]
  end
  -- An empty request sends nothing: the connection idles until the thread stops.
  return ""
end

function response(status, headers, body)
  answered = answered + 1
  if answered <= #requests_list then
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
  if answered == #requests_list then
    local marker = io.open(done_file, "w")
    marker:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, reqs)
  local totals = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for key, value in pairs(s) do
      totals[key] = (totals[key] or 0) + value
    end
  end
  local parts = {}
  for key, value in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', key, value))
  end
  io.write(string.format(
    'BENCH-RESULT {"duration_us": %d, "statuses": {%s}, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.duration, table.concat(parts, ", "),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
