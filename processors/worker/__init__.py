"""The live worker: batches of ``cx.events`` through the engine, the SLA clock, incidents, metrics, the read model.

Nothing here imports faust; the faust app that drives it is ``faustapp``.
"""
