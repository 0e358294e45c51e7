<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * A hash of the normalized request. A later call for an already placed purchase order answers with
 * the existing order whatever it sends; "same_request" tells the caller whether what it sent now is
 * what was placed (Walmart changes an order after creation: lines cancelled, quantities reduced).
 */
final class RequestFingerprint
{
    public static function of(ValidatedOrder $order): string
    {
        return hash('sha256', (string)json_encode(self::canonical($order->toArray()),
            JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
    }

    /**
     * @param mixed $value
     * @return mixed
     */
    private static function canonical($value)
    {
        if (!is_array($value)) {
            return $value;
        }
        if (!array_is_list($value)) {
            ksort($value);
        }
        return array_map([self::class, 'canonical'], $value);
    }
}
