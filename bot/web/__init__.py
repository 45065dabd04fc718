"""The bot's HTTP side: Telegram's webhook, /healthz and /metrics.

server.py runs the aiohttp listeners (one per address: the webhook may face a reverse proxy
while health and metrics stay on loopback); webhook.py takes Telegram's POSTs, only with the
secret token; health.py decides /healthz from the event loop's lag, a probe write and
delivery's progress; metrics.py keeps the Prometheus series (its own registry) that the
poller, the delivery worker and the Telegram client feed through bot.metrics.MetricsSink.
"""
