"""The ITAM and finance web console (`procure web`): FastAPI pages and their JSON API."""
