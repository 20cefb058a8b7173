"""Python azure-identity's DefaultAzureCredential, restricted to its production credentials
(AZURE_TOKEN_CREDENTIALS=prod), getting one token. Prints OK or FAILED <first line>.

Usage: python_chain.py <scope>; environment as the test sets it (EMU_CA = the emulator's CA).
"""
import os
import sys

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential

credential = DefaultAzureCredential(
    disable_instance_discovery=True,
    connection_verify=os.environ["EMU_CA"],
)
try:
    credential.get_token(sys.argv[1])
    print("OK")
except ClientAuthenticationError as error:
    print("FAILED", str(error).splitlines()[0])
