"""Evidence beyond the headline metrics: breakdowns, baselines, ablations, generalisation."""
