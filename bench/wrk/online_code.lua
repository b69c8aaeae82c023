-- POST an online code: a PIN no other request uses, on lock n mod L.
local ids, headers, counter
init = function(args)
  ids = read_lines(os.getenv("BENCH_LOCK_IDS"))
  headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
  -- The warm-up run uses other PINs and start hours than the measured one.
  counter = thread_id * 10000000 + (os.getenv("BENCH_WARMUP") and 5000000 or 0)
end
request = function()
  counter = counter + 1
  local body = string.format('{"code":"%08d","name":"bench"}', counter % 100000000)
  return wrk.format("POST", "/locks/" .. ids[(counter % #ids) + 1] .. "/access_codes", headers, body)
end
