-- GET /locks for an owner with 100 locks (one page).
local headers
init = function(args) headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")} end
request = function() return wrk.format("GET", "/locks", headers) end
