<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Plugin;

use Magento\Authorization\Model\UserContextInterface;
use Magento\Framework\AuthorizationInterface;
use WalmartSync\Marketplace\Logic\CartAmountsPolicy;
use WalmartSync\Marketplace\Model\Config;

/**
 * Whether this REST call may set marketplace amounts (Logic\CartAmountsPolicy): an integration or
 * admin token whose role has WalmartSync_Marketplace::cart_amounts, with the setting on.
 */
class CartAmountsGate
{
    public function __construct(
        private readonly Config $config,
        private readonly UserContextInterface $userContext,
        private readonly AuthorizationInterface $authorization,
        private readonly CartAmountsPolicy $policy
    ) {
    }

    public function allowed(): bool
    {
        $userType = $this->userContext->getUserType();
        return $this->policy->allows(
            $this->config->cartAmountsEnabled(),
            $userType === null ? null : (int)$userType,
            $this->authorization->isAllowed(CartAmountsPolicy::ACL_RESOURCE)
        );
    }
}
