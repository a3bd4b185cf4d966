-- Shared by the bench's wrk scripts: arguments, per-status counting, and one JSON line of results.
--
-- Every script is run as `wrk ... -s <script> <url> -- <token> <nonce> <more...>`. wrk gives each thread
-- its own Lua state: setup() runs in the main state and numbers the threads; response() counts
-- statuses per thread; done() sums the threads' counts and prints one line `BENCH_JSON {...}`.

local bench = {}

local threads = {}
local next_thread = 0

function setup(thread)
   thread:set("tid", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

counts = {}

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

-- The headers every request carries; `args` are the strings after `--` on wrk's command line.
function bench.headers(args)
   return {
      ["Authorization"] = "Bearer " .. args[1],
      ["Content-Type"] = "application/json",
   }
end

-- A body file of bench/lua/ (the Python side sends the very same bytes when it primes a key).
function bench.body(name)
   local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
   local file = assert(io.open(here .. name, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

local function json_counts(merged)
   local parts = {}
   for status, n in pairs(merged) do
      table.insert(parts, string.format('"%d":%d', status, n))
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      local c = thread:get("counts") or {}
      for status, n in pairs(c) do
         merged[status] = (merged[status] or 0) + n
      end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d},'
         .. '"statuses":%s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      json_counts(merged)))
end

return bench
