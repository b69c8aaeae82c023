-- POST an offline code. Request n of thread t goes to lock n mod L for start hour (n div L):
-- every (lock, hour) gets one hourly-bound code, so no slot or limit refuses any of them.
local ids, headers, base, counter
init = function(args)
  ids = read_lines(os.getenv("BENCH_LOCK_IDS"))
  headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
  base = tonumber(os.getenv("BENCH_BASE_EPOCH"))
  -- The warm-up run uses other PINs and start hours than the measured one.
  counter = thread_id * 10000000 + (os.getenv("BENCH_WARMUP") and 5000000 or 0)
end
request = function()
  counter = counter + 1
  local lock = ids[(counter % #ids) + 1]
  local start = base + 3600 * (math.floor(counter / #ids) % 200000)
  local body = string.format('{"is_offline_access_code":true,"starts_at":"%s","ends_at":"%s"}',
    os.date("!%Y-%m-%dT%H:%M:%SZ", start), os.date("!%Y-%m-%dT%H:%M:%SZ", start + 3 * 3600))
  return wrk.format("POST", "/locks/" .. lock .. "/access_codes", headers, body)
end
