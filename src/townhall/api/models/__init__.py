"""Response models: what each route answers, so /openapi.json describes every response exactly."""
