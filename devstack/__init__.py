"""The embedded local stack (MariaDB + Kafka broker), Magento schema and seed data, and the emulators."""
