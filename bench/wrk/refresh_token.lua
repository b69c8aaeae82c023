-- POST /oauth/token with grant_type=refresh_token (refresh tokens do not rotate).
local headers, body
init = function(args)
  headers = {["Authorization"] = "Basic " .. os.getenv("BENCH_CLIENT_BASIC"),
             ["Content-Type"] = "application/x-www-form-urlencoded"}
  body = "grant_type=refresh_token&refresh_token=" .. os.getenv("BENCH_REFRESH_TOKEN")
end
request = function() return wrk.format("POST", "/oauth/token", headers, body) end
