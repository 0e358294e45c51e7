<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\MarketplaceAddressInterface;

/**
 * Plain implementation of MarketplaceAddressInterface (di.xml preference).
 */
class MarketplaceAddress implements MarketplaceAddressInterface
{
    /** @var string|null */
    private $firstname = null;

    /** @var string|null */
    private $lastname = null;

    /** @var string[] */
    private $street = [];

    /** @var string|null */
    private $city = null;

    /** @var string|null */
    private $region = null;

    /** @var string|null */
    private $postcode = null;

    /** @var string|null */
    private $countryId = null;

    /** @var string|null */
    private $telephone = null;

    public function getFirstname()
    {
        return $this->firstname;
    }

    public function setFirstname($firstname)
    {
        $this->firstname = $firstname === null ? null : (string)$firstname;
        return $this;
    }

    public function getLastname()
    {
        return $this->lastname;
    }

    public function setLastname($lastname)
    {
        $this->lastname = $lastname === null ? null : (string)$lastname;
        return $this;
    }

    public function getStreet()
    {
        return $this->street;
    }

    public function setStreet($street)
    {
        $this->street = $street === null ? [] : array_values((array)$street);
        return $this;
    }

    public function getCity()
    {
        return $this->city;
    }

    public function setCity($city)
    {
        $this->city = $city === null ? null : (string)$city;
        return $this;
    }

    public function getRegion()
    {
        return $this->region;
    }

    public function setRegion($region)
    {
        $this->region = $region === null ? null : (string)$region;
        return $this;
    }

    public function getPostcode()
    {
        return $this->postcode;
    }

    public function setPostcode($postcode)
    {
        $this->postcode = $postcode === null ? null : (string)$postcode;
        return $this;
    }

    public function getCountryId()
    {
        return $this->countryId;
    }

    public function setCountryId($countryId)
    {
        $this->countryId = $countryId === null ? null : (string)$countryId;
        return $this;
    }

    public function getTelephone()
    {
        return $this->telephone;
    }

    public function setTelephone($telephone)
    {
        $this->telephone = $telephone === null ? null : (string)$telephone;
        return $this;
    }
}
