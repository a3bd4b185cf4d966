-- One key, one exception: a replay of a stored response, or a 409 while the key is held in flight.
-- Arguments: <token> <nonce> <key> <exception id>.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(here .. "common.lua")

local prepared

function init(args)
   local headers = bench.headers(args)
   headers["X-Idempotency-Key"] = args[3]
   prepared = wrk.format("POST", "/v1/exceptions/" .. args[4] .. "/callback", headers, bench.body("callback.json"))
end

function request()
   return prepared
end
