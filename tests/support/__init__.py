"""What the tests share: config builders, staff and alert helpers, servers, readers, samples.

Test modules import from here (`from support.api import publish`), never from conftest.py or
from another test module; conftest.py files hold only fixtures.
"""
