"""Magento Commerce schema: declarative-schema converter, editions and the generated DDL."""
