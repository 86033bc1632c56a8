"""PLACEHOLDER: replaced by the Schema Registry implementation."""
from fastapi import APIRouter

router = APIRouter()


@router.get("/config")
def get_config() -> dict:
    return {"compatibilityLevel": "BACKWARD"}
