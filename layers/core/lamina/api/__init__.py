"""The API backend (ApiFunction): a FastAPI app served through Mangum."""
