-- POST an online code: a PIN no other request uses, on lock n mod L.
local ids, headers, counter
init = function(args)
  ids = read_lines(os.getenv("BENCH_LOCK_IDS"))
  headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
  counter = thread_id * 10000000
end
request = function()
  counter = counter + 1
  local body = string.format('{"code":"%08d","name":"bench"}', counter % 100000000)
  return wrk.format("POST", "/locks/" .. ids[(counter % #ids) + 1] .. "/access_codes", headers, body)
end
