"""The secrets vault: provider keys and other secrets, envelope-encrypted with KMS, never returned whole."""
