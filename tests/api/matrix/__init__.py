"""The API's permission matrix, declared one module per subject (each defines EXPECTATIONS);
tests/api/test_api_permissions.py gathers them and checks every API URL and method is declared."""
