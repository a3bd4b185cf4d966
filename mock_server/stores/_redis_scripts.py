"""The Redis store's Lua scripts: each is one atomic step on the server, and one round trip."""

from __future__ import annotations

# KEYS: idem. ARGV: token, fingerprint, now, in-flight expiry, GC TTL.
CLAIM = """
local record = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'expires_at', 'response')
if record[1] and tonumber(record[3]) > tonumber(ARGV[3]) then
    if record[1] == 'complete' then
        return {'complete', record[2], record[4]}
    end
    return {'in_flight', record[3]}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'in_flight', 'token', ARGV[1], 'fingerprint', ARGV[2],
           'created_at', ARGV[3], 'expires_at', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'claimed'}
"""
# KEYS: idem. ARGV: token, fingerprint, response, expiry, GC margin.
COMPLETE = """
local record = redis.call('HMGET', KEYS[1], 'state', 'token', 'created_at')
if record[1] ~= 'in_flight' or record[2] ~= ARGV[1] then
    return 0
end
redis.call('HSET', KEYS[1], 'state', 'complete', 'fingerprint', ARGV[2], 'response', ARGV[3],
           'expires_at', ARGV[4])
local lifetime = math.max(0, math.ceil(tonumber(ARGV[4]) - tonumber(record[3])))
redis.call('EXPIRE', KEYS[1], lifetime + tonumber(ARGV[5]))
return 1
"""
# KEYS: idem. ARGV: token.
RELEASE = """
local record = redis.call('HMGET', KEYS[1], 'state', 'token')
if record[1] == 'in_flight' and record[2] == ARGV[1] then
    redis.call('DEL', KEYS[1])
end
return 0
"""
# An applied callback, in one round trip: compare-and-set on the exception's row (the caller's copy of it),
# completion of the claimed key, and the history entries it adds, trimmed to the newest ARGV[8].
# KEYS: exc, idem (or exc again), hist. ARGV: expected row, new row, token ('' without a claim), fingerprint,
# response, expiry, GC margin, history limit, history entries...
# Answers {1} done, {0, current row} when the copy was stale, {-1} claim lost, {-2} no such exception.
APPLY = """
local current = redis.call('GET', KEYS[1])
if not current then
    return {-2}
end
if current ~= ARGV[1] then
    return {0, current}
end
if ARGV[3] ~= '' then
    local claim = redis.call('HMGET', KEYS[2], 'state', 'token', 'created_at')
    if claim[1] ~= 'in_flight' or claim[2] ~= ARGV[3] then
        return {-1}
    end
    redis.call('HSET', KEYS[2], 'state', 'complete', 'fingerprint', ARGV[4], 'response', ARGV[5], 'expires_at', ARGV[6])
    local lifetime = math.max(0, math.ceil(tonumber(ARGV[6]) - tonumber(claim[3])))
    redis.call('EXPIRE', KEYS[2], lifetime + tonumber(ARGV[7]))
end
redis.call('SET', KEYS[1], ARGV[2])
if #ARGV > 8 then
    redis.call('RPUSH', KEYS[3], unpack(ARGV, 9))
    redis.call('LTRIM', KEYS[3], -tonumber(ARGV[8]), -1)
end
return {1}
"""
# An exception and its history. KEYS: exc, exceptions (listing), exceptions-seq, hist.
# ARGV: id, row, 'absent' (only if there is none) or 'always', history entries...
PUT = """
if ARGV[3] == 'absent' then
    if not redis.call('SET', KEYS[1], ARGV[2], 'NX') then
        return 0
    end
else
    redis.call('SET', KEYS[1], ARGV[2])
end
redis.call('DEL', KEYS[4])
if #ARGV > 3 then
    redis.call('RPUSH', KEYS[4], unpack(ARGV, 4))
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1
"""
