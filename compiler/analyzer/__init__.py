"""`triton-gitops import-analyzer`: Model Analyzer's tuning results into models.yaml.

Stages, one module each: `results` reads what Model Analyzer wrote (its results CSVs with
the config folders of its output model repository, or its checkpoint, which holds both);
`choose` picks the measurement and config that meet the constraints and serve the
objective best; `change` compares that config with the model's entry and decides which
top-level fields to set; `yamledit` makes those edits in the manifest's text, leaving every
other byte as it was.
"""
