"""Stream processing: the pure engine and the faust worker that drives it."""
