<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use DateTimeImmutable;
use DateTimeZone;
use Exception;
use InvalidArgumentException;

/**
 * Checks a MarketplaceOrder (as the snake_case array of the REST contract) and normalizes it.
 *
 * Everything Magento would otherwise refuse half-way through building a quote is caught here, before
 * the idempotency claim is taken, so a malformed order never leaves a "placing" row behind.
 */
final class OrderRequestValidator
{
    public const MAX_LINES = 200;
    public const MAX_QTY = 10000;

    /**
     * @param array<string, mixed> $data
     * @throws InvalidOrderRequest
     */
    public function validate(array $data): ValidatedOrder
    {
        $errors = [];
        $po = $this->text($data, 'purchase_order_id', $errors, 64, '/^[A-Za-z0-9._-]+$/');
        $customerOrderId = $this->text($data, 'customer_order_id', $errors, 64, null, false);
        $orderDate = $this->date($data, 'order_date', $errors, true);
        $storeCode = $this->text($data, 'store_code', $errors, 64, '/^[a-z0-9_]+$/');
        $currency = $this->text($data, 'currency_code', $errors, 3, '/^[A-Z]{3}$/', false);
        $email = $this->text($data, 'customer_email', $errors, 255);
        if ($email !== '' && filter_var($email, FILTER_VALIDATE_EMAIL) === false) {
            $errors[] = 'customer_email: not an e-mail address';
        }
        $firstname = $this->text($data, 'customer_firstname', $errors, 255);
        $lastname = $this->text($data, 'customer_lastname', $errors, 255);
        $address = $this->address($data['shipping_address'] ?? null, $errors);
        $shipMethod = $this->text($data, 'ship_method', $errors, 64, null, false);
        $shipDate = $this->date($data, 'estimated_ship_date', $errors, false);
        $deliveryDate = $this->date($data, 'estimated_delivery_date', $errors, false);
        $methodCode = $this->text($data, 'shipping_method_code', $errors, 40, '/^[a-z0-9_]+$/', false);
        $fulfillment = $this->text($data, 'fulfillment', $errors, 32, null, false);
        if ($fulfillment !== '' && !in_array($fulfillment, ValidatedOrder::FULFILLMENTS, true)) {
            $errors[] = 'fulfillment: one of ' . implode(', ', ValidatedOrder::FULFILLMENTS);
        }
        $shipNode = $this->text($data, 'ship_node', $errors, 64, '/^[A-Za-z0-9._-]+$/', false);
        $sourceCode = $this->text($data, 'source_code', $errors, 255, '/^[A-Za-z0-9_-]+$/', false);
        $lines = $this->lines($data['lines'] ?? null, $errors);
        if ($errors) {
            throw new InvalidOrderRequest($errors);
        }
        return new ValidatedOrder(
            $po,
            $customerOrderId,
            (string)$orderDate,
            $storeCode,
            $currency === '' ? null : $currency,
            $email,
            $firstname,
            $lastname,
            $address,
            $lines,
            $shipMethod,
            $methodCode !== '' ? $methodCode : ShippingMethodCode::fromWalmart($shipMethod),
            $shipDate,
            $deliveryDate,
            $fulfillment !== '' ? $fulfillment : ValidatedOrder::SELLER_FULFILLED,
            $shipNode,
            $sourceCode
        );
    }

    /**
     * @param array<string, mixed> $data
     * @param string[] $errors
     */
    private function text(array $data, string $field, array &$errors, int $max, ?string $pattern = null,
                          bool $required = true, string $prefix = ''): string
    {
        $value = $data[$field] ?? null;
        if ($value === null || (is_string($value) && trim($value) === '')) {
            if ($required) {
                $errors[] = "$prefix$field: required";
            }
            return '';
        }
        if (!is_string($value) && !is_int($value)) {
            $errors[] = "$prefix$field: must be a string";
            return '';
        }
        $value = trim((string)$value);
        if (mb_strlen($value) > $max) {
            $errors[] = "$prefix$field: longer than $max characters";
        } elseif ($pattern !== null && !preg_match($pattern, $value)) {
            $errors[] = "$prefix$field: \"$value\" has characters that are not allowed";
        }
        return $value;
    }

    /**
     * @param array<string, mixed> $data
     * @param string[] $errors
     */
    private function date(array $data, string $field, array &$errors, bool $required): ?string
    {
        $value = $data[$field] ?? null;
        if ($value === null || $value === '') {
            if ($required) {
                $errors[] = "$field: required";
            }
            return null;
        }
        if (!is_string($value) || !preg_match('/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/', $value)) {
            $errors[] = "$field: not an ISO-8601 date";
            return null;
        }
        try {
            $date = new DateTimeImmutable($value, new DateTimeZone('UTC'));
        } catch (Exception $e) {
            $errors[] = "$field: not an ISO-8601 date";
            return null;
        }
        return $date->setTimezone(new DateTimeZone('UTC'))->format('Y-m-d H:i:s');
    }

    /**
     * @param mixed $address
     * @param string[] $errors
     * @return array<string, mixed>
     */
    private function address($address, array &$errors): array
    {
        if (!is_array($address)) {
            $errors[] = 'shipping_address: required';
            return [];
        }
        $p = 'shipping_address.';
        $street = $address['street'] ?? null;
        if (is_string($street)) {
            $street = [$street];
        }
        $lines = [];
        if (!is_array($street) || !$street) {
            $errors[] = "{$p}street: required";
        } else {
            foreach (array_values($street) as $i => $part) {
                if (!is_string($part)) {
                    $errors[] = "{$p}street[$i]: must be a string";
                } elseif (trim($part) !== '') {
                    $lines[] = trim($part);
                }
            }
            if (!$lines) {
                $errors[] = "{$p}street: required";
            } elseif (count($lines) > 4) {
                $errors[] = "{$p}street: more than 4 lines";
            }
        }
        return [
            'firstname' => $this->text($address, 'firstname', $errors, 255, null, true, $p),
            'lastname' => $this->text($address, 'lastname', $errors, 255, null, true, $p),
            'street' => $lines,
            'city' => $this->text($address, 'city', $errors, 255, null, true, $p),
            'region' => $this->text($address, 'region', $errors, 255, null, false, $p),
            'postcode' => $this->text($address, 'postcode', $errors, 32, null, true, $p),
            'country_id' => $this->text($address, 'country_id', $errors, 2, '/^[A-Z]{2}$/', true, $p),
            'telephone' => $this->text($address, 'telephone', $errors, 64, null, true, $p),
        ];
    }

    /**
     * @param mixed $lines
     * @param string[] $errors
     * @return ValidatedLine[]
     */
    private function lines($lines, array &$errors): array
    {
        if (!is_array($lines) || !$lines) {
            $errors[] = 'lines: at least one line is required';
            return [];
        }
        if (count($lines) > self::MAX_LINES) {
            $errors[] = 'lines: more than ' . self::MAX_LINES . ' lines';
            return [];
        }
        $result = [];
        $seen = [];
        foreach (array_values($lines) as $i => $line) {
            $p = "lines[$i].";
            if (!is_array($line)) {
                $errors[] = "lines[$i]: must be an object";
                continue;
            }
            $number = $this->text($line, 'line_number', $errors, 32, '/^[A-Za-z0-9._-]+$/', true, $p);
            if ($number !== '' && isset($seen[$number])) {
                $errors[] = "{$p}line_number: $number appears twice";
            }
            $seen[$number] = true;
            $sku = $this->text($line, 'sku', $errors, 64, null, true, $p);
            $qty = $line['qty'] ?? null;
            if (is_string($qty) && preg_match('/^\d+$/', $qty)) {
                $qty = (int)$qty;
            } elseif (is_float($qty) && floor($qty) === $qty) {
                $qty = (int)$qty;
            }
            if (!is_int($qty) || $qty < 1 || $qty > self::MAX_QTY) {
                $errors[] = "{$p}qty: must be a whole number from 1 to " . self::MAX_QTY;
                $qty = 0;
            }
            $result[] = new ValidatedLine(
                $number,
                $sku,
                $qty,
                $this->amount($line, 'unit_price', $errors, $p, true),
                $this->amount($line, 'tax_amount', $errors, $p, false),
                $this->amount($line, 'shipping_amount', $errors, $p, false),
                $this->amount($line, 'shipping_tax_amount', $errors, $p, false)
            );
        }
        return $result;
    }

    /**
     * @param array<string, mixed> $line
     * @param string[] $errors
     */
    private function amount(array $line, string $field, array &$errors, string $prefix, bool $required): int
    {
        $value = $line[$field] ?? null;
        if ($value === null || $value === '') {
            if ($required) {
                $errors[] = "$prefix$field: required";
            }
            return 0;
        }
        try {
            $cents = Money::toCents($value);
        } catch (InvalidArgumentException $e) {
            $errors[] = "$prefix$field: not a decimal amount";
            return 0;
        }
        if ($cents < 0) {
            $errors[] = "$prefix$field: negative";
            return 0;
        }
        return $cents;
    }
}
