-- wrk script: POST a check-in to ep-1..ep-100 in turn (see docs/performance.md).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"proxy_version":"0.2.8","agent_ids":["filesystem-safe"],"risk_score":10,"violations_today":0,"sessions_today":1}'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/acme/thoth/endpoints/ep-" .. (counter % 100 + 1) .. "/checkin")
end
