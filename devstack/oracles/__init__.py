"""Oracles: the dev stack's own statement of the rules it judges the sidecar by.

An emulator or an agreement check that imported the production rule it is meant to judge would
agree with every bug in that rule. So each rule the dev stack judges is written here a second
time, from the outside source (Walmart's notes and OpenAPI specs, Magento's code), never from
sync_workers/, cdc_listener/ or mappings/; tests/test_oracle_independence.py enforces that, and
tests/test_oracles_agree.py checks that both versions agree on the seeded store.

- walmart_limits: Walmart's published rate limits and the emulator's token bucket.
- identifiers, carriers: what Walmart accepts as product ids and carrier names.
- catalog: which product row a SKU is (either edition), attribute ids, config values.
- msi: Magento's salable quantity (MSI stocks, the default stock, legacy CatalogInventory).
- prices: Magento's final price of a simple product in a store.
- refunds: what Walmart should show refunded and cancelled for Commerce's credit memos.
"""
