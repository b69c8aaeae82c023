-- Authenticated GET /locks/{lock_id}, a random lock of the token's owner each time.
local ids, headers
init = function(args)
  ids = read_lines(os.getenv("BENCH_LOCK_IDS"))
  headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}
  math.randomseed(os.time() * 1000 + thread_id)
end
request = function() return wrk.format("GET", "/locks/" .. ids[math.random(#ids)], headers) end
