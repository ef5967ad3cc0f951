"""The faust adapter of the worker: the app, its agents and pages, the consumer loop, the batch producer."""
