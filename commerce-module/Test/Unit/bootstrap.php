<?php
/**
 * PHPUnit bootstrap: autoloads WalmartSync\Marketplace\ from this module's directory, the way
 * composer.json's psr-4 entry would, without Composer or Magento.
 */
declare(strict_types=1);

error_reporting(E_ALL);

define('WALMARTSYNC_MODULE_DIR', dirname(__DIR__, 2));

spl_autoload_register(static function (string $class): void {
    $prefix = 'WalmartSync\\Marketplace\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = WALMARTSYNC_MODULE_DIR . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
