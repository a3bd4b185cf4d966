-- Rejection: a body without the required `status` (400 from the mock and the bare app).
-- Arguments: <token> <nonce> <exception id>.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(here .. "common.lua")

local prepared

function init(args)
   local body = bench.body("invalid.json")
   prepared = wrk.format("POST", "/v1/exceptions/" .. args[3] .. "/callback", bench.headers(args), body)
end

function request()
   return prepared
end
