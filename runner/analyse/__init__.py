"""Floor 5, analyse: compare, statistics, plots, evaluate, gradcheck, the reproduction report.
Reads run folders through record. May import: build, record, config and the bottom (not fit)."""
