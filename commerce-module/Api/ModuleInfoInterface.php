<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api;

/**
 * GET /V1/walmart-sync/module: whether the module is installed, which version, what it can do.
 *
 * @api
 */
interface ModuleInfoInterface
{
    /**
     * @return \WalmartSync\Marketplace\Api\Data\ModuleStatusInterface
     */
    public function get();
}
