<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

use Magento\Framework\App\Config\ScopeConfigInterface;

/**
 * The module's settings (etc/config.xml defaults, Stores > Configuration > Sales > walmart-sync Marketplace).
 */
class Config
{
    public function __construct(private readonly ScopeConfigInterface $scopeConfig)
    {
    }

    public function staleClaimSeconds(): int
    {
        return max(60, (int)$this->scopeConfig->getValue('walmart_sync/orders/stale_claim_seconds'));
    }

    public function sendOrderEmail(): bool
    {
        return $this->scopeConfig->isSetFlag('walmart_sync/orders/send_order_email');
    }

    public function addOrderComment(): bool
    {
        return $this->scopeConfig->isSetFlag('walmart_sync/orders/add_order_comment');
    }

    public function cartAmountsEnabled(): bool
    {
        return $this->scopeConfig->isSetFlag('walmart_sync/cart_flow/apply_amounts');
    }
}
