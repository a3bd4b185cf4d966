-- First processing: every request carries a new idempotency key and goes to one of N exceptions in turn.
-- Arguments: <token> <nonce> <exceptions> <id prefix>. The body asks for status OPEN, which on an OPEN
-- exception is a metadata update: a real 200 every time.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(here .. "common.lua")

local before_id, before_key, after_key, nonce, exceptions, prefix
local counter = 0

-- wrk.format builds the request once with placeholders; each request then only concatenates the pieces
-- (cheaper than wrk.format per request, so the load generator takes less of the shared CPU).
local function split(text, mark)
   local at = text:find(mark, 1, true)
   return text:sub(1, at - 1), text:sub(at + #mark)
end

function init(args)
   nonce = args[2]
   exceptions = tonumber(args[3])
   prefix = args[4]
   local headers = bench.headers(args)
   headers["X-Idempotency-Key"] = "@KEY@"
   local template = wrk.format("POST", "/v1/exceptions/@ID@/callback", headers, bench.body("callback.json"))
   local rest
   before_id, rest = split(template, "@ID@")
   before_key, after_key = split(rest, "@KEY@")
end

function request()
   counter = counter + 1
   local id = string.format("%s%012d", prefix, (counter * 7 + tid * 7919) % exceptions)
   local key = string.format("bench:%s:%d:%d:%d", nonce, tid, counter, math.random(0, 999999))
   return before_id .. id .. before_key .. key .. after_key
end
