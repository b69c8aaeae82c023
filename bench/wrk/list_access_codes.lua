-- GET /locks/{lock_id}/access_codes for a lock holding its model's maximum of 199 live codes:
-- without `limit` the page holds all of them (Seam's duplicate check after a token refresh).
local path, headers
init = function(args)
  path = "/locks/" .. os.getenv("BENCH_CODES_LOCK_ID") .. "/access_codes"
  headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}
end
request = function() return wrk.format("GET", path, headers) end
