-- Appended to a case's script to pace it: each connection waits BENCH_DELAY_MS before sending
-- its next request, so wrk offers a fixed load below what the machine can serve (the fleet
-- case's paced runs) instead of as much as it can.
local pause = tonumber(os.getenv("BENCH_DELAY_MS"))
delay = function() return pause end
